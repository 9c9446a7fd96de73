//! The registry: the slots of a reactor's registrations, and the tokens
//! that name them.

use std::io;
use std::sync::Arc;

use super::readiness::IoState;

/// Slots of registrations, indexed by the low bits of their tokens.
#[derive(Default)]
pub(super) struct Registry {
    slots: Vec<Slot>,
    /// Indices of free slots, reused last-freed first.
    free: Vec<usize>,
}

struct Slot {
    /// Bumped when the slot is freed, so stale tokens do not match.
    generation: usize,
    io: Option<Arc<IoState>>,
}

/// Token layout: index in the low `INDEX_BITS`, generation above it, top bit
/// clear so no token collides with the poller's reserved `usize::MAX`.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 24 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: usize = usize::MAX >> (INDEX_BITS + 1);

impl Registry {
    pub(super) fn insert(&mut self, io: Arc<IoState>) -> io::Result<usize> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() <= INDEX_MASK => {
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                self.slots.len() - 1
            }
            None => return Err(io::Error::other("too many registrations in one reactor")),
        };
        let slot = &mut self.slots[index];
        slot.io = Some(io);
        Ok(slot.generation << INDEX_BITS | index)
    }

    pub(super) fn get(&self, token: usize) -> Option<&Arc<IoState>> {
        let slot = self.slots.get(token & INDEX_MASK)?;
        if slot.generation == token >> INDEX_BITS {
            slot.io.as_ref()
        } else {
            None
        }
    }

    pub(super) fn remove(&mut self, token: usize) -> Option<Arc<IoState>> {
        let index = token & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.generation != token >> INDEX_BITS {
            return None;
        }
        let io = slot.io.take()?;
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        self.free.push(index);
        Some(io)
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reactor::sys;

    #[test]
    fn tokens_carry_generations_and_never_collide_with_the_notify_token() {
        let mut registry = Registry::default();
        let a = registry.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(a, 0);
        assert!(registry.remove(a).is_some());
        let b = registry.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(b & INDEX_MASK, a & INDEX_MASK, "slot reused");
        assert_ne!(a, b, "new generation");
        assert!(registry.get(a).is_none(), "stale token ignored");
        assert!(registry.get(b).is_some());
        assert!(registry.remove(a).is_none(), "stale token cannot remove");
        assert_eq!(registry.len(), 1);

        // The largest token has its top bit clear.
        let last = GENERATION_MASK << INDEX_BITS | INDEX_MASK;
        assert_eq!(last >> (usize::BITS - 1), 0);
        assert_ne!(last, sys::NOTIFY_TOKEN);
    }

    #[test]
    fn generation_wraps_to_zero() {
        let mut registry = Registry::default();
        let t = registry.insert(Arc::new(IoState::new())).unwrap();
        registry.remove(t);
        registry.slots[0].generation = GENERATION_MASK;
        let t = registry.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(t >> INDEX_BITS, GENERATION_MASK);
        registry.remove(t);
        assert_eq!(registry.slots[0].generation, 0);
    }
}
