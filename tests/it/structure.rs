//! The crate's shape: no import circles between modules. Two modules of one folder may not
//! reach each other, directly or through others of that folder (a parent's `mod.rs` declares
//! its children and is left out: that link is Rust's, not a dependency). References are read from
//! the source text: every `crate::…` and `super::…` path outside comments and unit tests.
//! And who may hold the whole store: only its owners name the type (see
//! [`only_the_store_s_owners_name_the_store_type`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's absolute path (`["web", "reports"]`), from its file below `src/`.
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths that follow each `crate::` or `super::` (a `{a, b::c}` group gives one per item),
/// as segments after the keyword chain, with how many `super`s led to them (`None`: `crate`).
fn references(code: &str) -> Vec<(Option<usize>, Vec<String>)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let (supers, after) = if starts_word && rest.starts_with("crate::") {
            (None, i + "crate::".len())
        } else if starts_word && rest.starts_with("super::") {
            let mut n = 0;
            let mut j = i;
            while code[j..].starts_with("super::") {
                n += 1;
                j += "super::".len();
            }
            (Some(n), j)
        } else {
            i += 1;
            continue;
        };
        for path in paths_at(&code[after..]) {
            out.push((supers, path));
        }
        i = after;
    }
    out
}

/// Identifiers joined by `::` at the start of `text`; a brace group yields each item's path.
fn paths_at(text: &str) -> Vec<Vec<String>> {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        if let Some(group) = text.strip_prefix('{') {
            let mut depth = 0;
            let mut items = Vec::new();
            let mut current = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut current));
                        continue;
                    }
                    _ => {}
                }
                current.push(c);
            }
            items.push(current);
            return items
                .iter()
                .flat_map(|item| paths_at(item.trim()))
                .collect();
        }
        return Vec::new();
    }
    let rest = &text[ident.len()..];
    match rest.strip_prefix("::") {
        Some(more) => {
            let tails = paths_at(more);
            if tails.is_empty() {
                vec![vec![ident]]
            } else {
                tails
                    .into_iter()
                    .map(|mut tail| {
                        tail.insert(0, ident.clone());
                        tail
                    })
                    .collect()
            }
        }
        None => vec![vec![ident]],
    }
}

/// Edges between the modules of each folder: folder → (from, to).
type Edges = BTreeMap<Vec<String>, BTreeSet<(String, String)>>;

/// Every circle among the modules of one folder, named `src/folder: a <-> b <-> …` (members
/// sorted, so each circle is named once).
fn circles(edges: &Edges) -> BTreeSet<String> {
    let mut circles = BTreeSet::new();
    for (folder, pairs) in edges {
        let starts: BTreeSet<&String> = pairs.iter().map(|(a, _)| a).collect();
        for start in starts {
            // Depth-first from `start`: reaching it again is a circle.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((at, trail)) = stack.pop() {
                for (_, next) in pairs.iter().filter(|(a, _)| *a == at) {
                    if next == start {
                        circles.insert(format!("src/{}: {}", folder.join("/"), {
                            // Named from its smallest module, so each circle is listed once.
                            let mut members = trail.clone();
                            members.sort();
                            members.join(" <-> ")
                        }));
                    } else if seen.insert(next.clone()) {
                        let mut trail = trail.clone();
                        trail.push(next.clone());
                        stack.push((next.clone(), trail));
                    }
                }
            }
        }
    }
    circles
}

#[test]
fn no_two_modules_of_one_folder_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    // Edges between siblings: folder → (from, to).
    let mut edges = Edges::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let from = module_of(relative);
        let is_folder_module = matches!(
            relative.file_stem().and_then(|s| s.to_str()),
            Some("mod" | "lib" | "main")
        );
        let text = std::fs::read_to_string(file).unwrap();
        for (supers, path) in references(&code(&text)) {
            let mut target = match supers {
                None => Vec::new(),
                Some(n) => {
                    // `super` of a folder's mod.rs is the folder's parent; of a file, its folder.
                    let up = n + usize::from(!is_folder_module);
                    if up > from.len() {
                        continue;
                    }
                    from[..from.len() + 1 - up].to_vec()
                }
            };
            target.extend(path);
            // The longest prefix that is a module.
            while !target.is_empty() && !modules.contains(&target) {
                target.pop();
            }
            let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
            // Only two different children of the common folder, neither of them the folder itself.
            if common < from.len() && common < target.len() {
                edges
                    .entry(from[..common].to_vec())
                    .or_default()
                    .insert((from[common].clone(), target[common].clone()));
            }
        }
    }
    assert!(
        edges
            .get(&vec!["web".to_owned()])
            .is_some_and(|e| e.len() > 20),
        "the reader sees the web layer's imports: {edges:?}"
    );
    let circles = circles(&edges);
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_reader_follows_groups_and_supers() {
    let found = references("use super::{a, b::{c, d}};\nlet x = crate::store::History::new();");
    assert_eq!(
        found,
        vec![
            (Some(1), vec!["a".to_owned()]),
            (Some(1), vec!["b".to_owned(), "c".to_owned()]),
            (Some(1), vec!["b".to_owned(), "d".to_owned()]),
            (
                None,
                vec!["store".to_owned(), "History".to_owned(), "new".to_owned()]
            ),
        ]
    );
}

#[test]
fn the_finder_names_each_circle_once_and_only_circles() {
    let pairs = |list: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    let mut edges = Edges::new();
    edges.insert(
        vec!["writer".to_owned()],
        pairs(&[("batch", "request"), ("idempotency", "request")]),
    );
    assert!(circles(&edges).is_empty(), "two modules reading a third");
    edges.insert(
        vec!["projections".to_owned()],
        pairs(&[
            ("index", "history"),
            ("history", "catalog"),
            ("catalog", "index"),
        ]),
    );
    assert_eq!(
        circles(&edges).into_iter().collect::<Vec<_>>(),
        ["src/projections: catalog <-> history <-> index"]
    );
}

/// The modules (first segment below `src/`) whose code may name the store type [`Store`], the
/// one handle that appends, erases and rewrites the file, and why. Everyone else holds a
/// narrower capability: the web layer a read-only `History`, the accounts an `AccountStore`,
/// the offline tools (`src/cli.rs`, import) an `OfflineStore`, the read-only tools a
/// `ReadOnlyStore`. The list may only shrink: a module listed that no longer names it fails.
///
/// [`Store`]: rollbook::store::Store
const STORE_OWNERS: &[(&str, &str)] = &[
    (
        "store",
        "the store itself, and the capabilities it hands out",
    ),
    (
        "writer",
        "the only code that appends, erases and rewrites the file",
    ),
    (
        "app",
        "the server's startup: opens it, gives it to the writer, the accounts and a History",
    ),
    (
        "generate",
        "`rollbook generate` and `serve --demo` drive the real writer over a new file",
    ),
];

/// Whether `code` names the type `Store` itself: not `StoreError` or `OfflineStore`, nor an
/// error variant `Store(..)` or `Refused::Store` (a path to it goes through a module, in lower
/// case).
fn names_store(code: &str) -> bool {
    let bytes = code.as_bytes();
    let ident = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    code.match_indices("Store").any(|(at, _)| {
        let after = bytes.get(at + "Store".len());
        let before = &code[..at];
        let through_a_type = before.strip_suffix("::").is_some_and(|path| {
            let segment = path
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default();
            segment.starts_with(|c: char| c.is_ascii_uppercase())
        });
        !ident(at.checked_sub(1).and_then(|i| bytes.get(i)))
            && !ident(after)
            && after != Some(&b'(')
            && !through_a_type
    })
}

#[test]
fn only_the_store_s_owners_name_the_store_type() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offending = Vec::new();
    let mut owners_naming = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = module_of(relative);
        let top = module.first().map_or("", String::as_str);
        let text = std::fs::read_to_string(file).unwrap();
        let naming: Vec<String> = code(&text)
            .lines()
            .filter(|line| names_store(line))
            .map(|line| line.trim().to_owned())
            .collect();
        if naming.is_empty() {
            continue;
        }
        if STORE_OWNERS.iter().any(|(owner, _)| *owner == top) {
            owners_naming.insert(top.to_owned());
        } else {
            offending.push(format!("src/{}: {naming:?}", relative.display()));
        }
    }
    assert!(
        files.len() > 50,
        "only {} files under {}",
        files.len(),
        src.display()
    );
    assert!(
        offending.is_empty(),
        "only the store's owners ({:?}) may name the store type: hold a History, an \
         AccountStore or an OfflineStore instead: {offending:#?}",
        STORE_OWNERS.iter().map(|(o, _)| o).collect::<Vec<_>>()
    );
    let idle: Vec<&str> = STORE_OWNERS
        .iter()
        .map(|(owner, _)| *owner)
        .filter(|owner| !owners_naming.contains(*owner))
        .collect();
    assert!(
        idle.is_empty(),
        "listed in STORE_OWNERS but no longer naming the store: take them off: {idle:?}"
    );
}

#[test]
fn the_store_check_finds_the_type_and_only_it() {
    assert!(names_store("state: Arc<Store>,"));
    assert!(names_store(
        "use crate::store::{Actor, Store, StoreOptions};"
    ));
    assert!(names_store("let store = Store::open(path, &options)?;"));
    assert!(names_store("fn run(store: &crate::store::Store) {"));
    assert!(!names_store(
        "use crate::store::{OfflineStore, ReadOnlyStore, StoreError, AccountStore};"
    ));
    assert!(!names_store("Err(AuthError::Store(e)) => {}"));
    assert!(!names_store("self.flush().map_err(Refused::Store)?;"));
    assert!(!names_store(
        "let store = OfflineStore::open(db, &StoreOptions::default())?;"
    ));
}
