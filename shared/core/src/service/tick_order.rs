//! The order a tick walks the groups in. A tick that runs out of time leaves
//! the rest to the next one, so always starting at the first name would
//! starve the same groups every time. Each tick starts instead at a position
//! drawn from its start time and wraps around: over a few ticks every group
//! is first in line, however the names cluster.

/// The position a tick started at `seed` (its start, in milliseconds) walks
/// `count` groups from.
pub fn rotation_offset(seed: u64, count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    // splitmix64: consecutive seeds give unrelated positions.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % count as u64) as usize
}

/// `items` walked from `offset`, wrapping around.
pub fn rotated<T>(mut items: Vec<T>, offset: usize) -> Vec<T> {
    if !items.is_empty() {
        let len = items.len();
        items.rotate_left(offset % len);
    }
    items
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_position_comes_first_over_a_few_minutes_of_ticks() {
        let firsts: HashSet<usize> = (0..200u64).map(|minute| rotation_offset(minute * 60_000, 12)).collect();
        assert_eq!(firsts.len(), 12);
    }

    #[test]
    fn the_same_start_time_walks_the_same_way() {
        assert_eq!(rotation_offset(42, 1000), rotation_offset(42, 1000));
        assert_eq!(rotation_offset(42, 0), 0);
    }

    proptest! {
        #[test]
        fn a_rotation_walks_every_item_once(len in 0usize..50, seed: u64) {
            let items: Vec<usize> = (0..len).collect();
            let walked = rotated(items.clone(), rotation_offset(seed, len));
            let mut sorted = walked.clone();
            sorted.sort();
            prop_assert_eq!(sorted, items);
            if len > 0 {
                prop_assert_eq!(walked[0], rotation_offset(seed, len));
            }
        }
    }
}
