// Migrations are embedded at compile time: an edited SQL file must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=reference");
}
