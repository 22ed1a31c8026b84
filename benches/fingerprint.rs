// placeholder until the fingerprint benchmark is written
fn main() {}
