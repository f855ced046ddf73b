//! The copy-on-write list and map that time travel's kept views share:
//! under any sequence of changes, each behaves as `Vec` and `BTreeMap`
//! do, and a clone kept along the way never sees what was changed after it.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tcpstep_frontend::model::cow::{CowMap, CowVec};

#[derive(Debug, Clone)]
enum VecOp {
    Push(u32),
    Set(usize, u32),
    Keep,
}

fn vec_op() -> impl Strategy<Value = VecOp> {
    prop_oneof![
        6 => any::<u32>().prop_map(VecOp::Push),
        3 => (any::<usize>(), any::<u32>()).prop_map(|(i, x)| VecOp::Set(i, x)),
        1 => Just(VecOp::Keep),
    ]
}

#[derive(Debug, Clone)]
enum MapOp {
    Insert(u16, u32),
    Change(u16, u32),
    GetOrInsert(u16, u32),
    Keep,
}

fn map_op() -> impl Strategy<Value = MapOp> {
    // Keys from a small range, so that inserts hit existing keys and
    // chunks split; and from a growing one, as sockets and clients arrive.
    let key = prop_oneof![0..300u16, 0..u16::MAX];
    prop_oneof![
        5 => (key.clone(), any::<u32>()).prop_map(|(k, v)| MapOp::Insert(k, v)),
        3 => (key.clone(), any::<u32>()).prop_map(|(k, v)| MapOp::Change(k, v)),
        2 => (key, any::<u32>()).prop_map(|(k, v)| MapOp::GetOrInsert(k, v)),
        1 => Just(MapOp::Keep),
    ]
}

/// Every way of reading a `CowVec` gives what the same reading of `Vec` does.
fn same_list(cow: &CowVec<u32>, vec: &[u32]) {
    assert_eq!(cow.len(), vec.len());
    assert_eq!(cow.is_empty(), vec.is_empty());
    assert!(cow.iter().eq(vec.iter()));
    assert!(cow.iter().rev().eq(vec.iter().rev()));
    assert!(cow.into_iter().eq(vec.iter()));
    assert_eq!(cow.first(), vec.first());
    assert_eq!(cow.last(), vec.last());
    for i in [0, 1, 63, 64, 65, vec.len().saturating_sub(1), vec.len()] {
        assert_eq!(cow.get(i), vec.get(i), "get({i})");
    }
    let n = vec.len();
    for (a, b) in [
        (0, n),
        (1, 3),
        (63, 129),
        (64, 64),
        (n / 3, n / 2),
        (5, 2),
        (n, n + 9),
    ] {
        let end = b.min(n);
        let start = a.min(end);
        assert!(cow.range(a..b).eq(vec[start..end].iter()), "range {a}..{b}");
        assert!(
            cow.range(a..b).rev().eq(vec[start..end].iter().rev()),
            "range {a}..{b} reversed"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_cow_vec_is_a_vec_and_its_clones_keep_their_moment(
        ops in prop::collection::vec(vec_op(), 0..600)
    ) {
        let mut cow = CowVec::new();
        let mut vec: Vec<u32> = Vec::new();
        let mut kept: Vec<(CowVec<u32>, Vec<u32>)> = Vec::new();
        for op in ops {
            match op {
                VecOp::Push(x) => {
                    cow.push(x);
                    vec.push(x);
                }
                VecOp::Set(i, x) => {
                    let i = if vec.is_empty() { i } else { i % vec.len() };
                    match (cow.get_mut(i), vec.get_mut(i)) {
                        (Some(a), Some(b)) => {
                            *a = x;
                            *b = x;
                        }
                        (a, b) => prop_assert_eq!(a.is_some(), b.is_some()),
                    }
                }
                VecOp::Keep => kept.push((cow.clone(), vec.clone())),
            }
        }
        same_list(&cow, &vec);
        for (cow, vec) in &kept {
            same_list(cow, vec);
        }
    }

    #[test]
    fn partition_point_finds_the_first_that_fails(
        mut values in prop::collection::vec(0..1000u32, 0..400),
        pivot in 0..1001u32,
    ) {
        values.sort_unstable();
        let cow: CowVec<u32> = values.iter().copied().collect();
        prop_assert_eq!(
            cow.partition_point(|&x| x < pivot),
            values.partition_point(|&x| x < pivot)
        );
    }

    #[test]
    fn a_cow_map_is_a_btree_map_and_its_clones_keep_their_moment(
        ops in prop::collection::vec(map_op(), 0..600)
    ) {
        let mut cow = CowMap::new();
        let mut map: BTreeMap<u16, u32> = BTreeMap::new();
        let mut kept: Vec<(CowMap<u16, u32>, BTreeMap<u16, u32>)> = Vec::new();
        for op in ops {
            match op {
                MapOp::Insert(k, v) => prop_assert_eq!(cow.insert(k, v), map.insert(k, v)),
                MapOp::Change(k, v) => {
                    match (cow.get_mut(&k), map.get_mut(&k)) {
                        (Some(a), Some(b)) => {
                            *a = v;
                            *b = v;
                        }
                        (a, b) => prop_assert_eq!(a.is_some(), b.is_some()),
                    }
                }
                MapOp::GetOrInsert(k, v) => {
                    let a = cow.get_or_insert_with(k, || v);
                    *a = a.wrapping_add(1);
                    let b = map.entry(k).or_insert(v);
                    *b = b.wrapping_add(1);
                }
                MapOp::Keep => kept.push((cow.clone(), map.clone())),
            }
        }
        kept.push((cow, map));
        for (cow, map) in &kept {
            prop_assert_eq!(cow.len(), map.len());
            prop_assert!(cow.iter().eq(map.iter()));
            prop_assert!(cow.iter().rev().eq(map.iter().rev()));
            prop_assert!(cow.keys().eq(map.keys()));
            prop_assert!(cow.values().eq(map.values()));
            for k in (0..320).chain(map.keys().copied()) {
                prop_assert_eq!(cow.get(&k), map.get(&k), "key {}", k);
                prop_assert_eq!(cow.contains_key(&k), map.contains_key(&k));
            }
        }
    }
}
