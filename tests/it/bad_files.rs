//! Files rollbook must refuse (or, for an empty one, initialise): each refusal has a clear
//! message, a non-zero exit from `serve`, and leaves the file's bytes untouched.
