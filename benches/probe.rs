// placeholder until the probe benchmark is written
fn main() {}
