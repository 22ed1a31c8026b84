// placeholder until the targets benchmark is written
fn main() {}
