//! `store-peer`: one store-level operation on rollbook's store or the `SQLite` peer, one JSON
//! line out (see `rollbook_bench::peer`).

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    rollbook_bench::peer::main_with_args(&args)
}
