//! The target space of smtpsweep's SYN scan. Sans-I/O: no sockets, threads or files.
//!
//! - [`parse_target`] / [`parse_list`]: addresses, CIDR blocks and ranges, and
//!   allow/blocklist file contents.
//! - [`IntervalSet`]: sorted disjoint address ranges; [`default_blocklist`] holds the
//!   IANA special-purpose blocks.
//! - [`PortSet`]: the destination ports.
//! - [`TargetSpace`]: allowed addresses × ports, numbered `0..len()` with fast
//!   index ↔ pair mapping.
//! - [`Permutation`]: a seeded ZMap-style cyclic-group permutation of `0..n`, split
//!   into disjoint, complete [`Subshard`]s for `--shards` × sender threads.
//!
//! ```
//! use smtpsweep_targets::*;
//! let allow = IntervalSet::from_ranges([parse_target("198.18.0.0/24").unwrap()]);
//! let block = IntervalSet::from_ranges(parse_list("198.18.0.128/25 # upper half\n", "block.txt").unwrap());
//! let space = TargetSpace::new(&allow, &block, &PortSet::parse("25,465,587").unwrap());
//! assert_eq!(space.len(), 128 * 3);
//! let perm = Permutation::new(space.len(), 42);
//! let mut seen: Vec<u64> = (0..2).flat_map(|t| perm.subshard(1, 0, 2, t)).collect();
//! seen.sort();
//! assert_eq!(seen, (0..space.len()).collect::<Vec<_>>());
//! let (addr, port) = space.get(seen[5]);
//! assert_eq!(space.index_of(addr, port), Some(5));
//! ```

mod error;
mod interval;
mod parse;
mod perm;
mod ports;
mod space;

pub use error::TargetError;
pub use interval::{DEFAULT_BLOCKLIST, IntervalSet, Ipv4Range, default_blocklist};
pub use parse::{parse_list, parse_target};
pub use perm::{MAX_SPACE, Permutation, Subshard, validate_split};
pub use ports::PortSet;
pub use space::TargetSpace;
