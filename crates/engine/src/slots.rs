//! Requests inside an engine, by slot: a vector with freed slots reused, so that a request
//! is named by a small integer for its whole stay.

/// Items by slot.
#[derive(Clone, Debug)]
pub(crate) struct Slots<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slots<T> {
    /// Stores `item` in a free slot; returns the slot.
    pub(crate) fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.items[slot as usize] = Some(item);
                slot
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        }
    }

    /// The item in `slot`, if the slot is live.
    pub(crate) fn try_get(&self, slot: u32) -> Option<&T> {
        self.items.get(slot as usize).and_then(Option::as_ref)
    }

    /// The item in a live `slot` (engines only keep slots of requests inside them).
    pub(crate) fn get(&self, slot: u32) -> &T {
        self.try_get(slot)
            .unwrap_or_else(|| unreachable!("slot {slot} is not live"))
    }

    /// The item in a live `slot`, mutably.
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut T {
        self.items
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .unwrap_or_else(|| unreachable!("slot {slot} is not live"))
    }

    /// Removes the item of `slot` and frees the slot.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<T> {
        let item = self.items.get_mut(slot as usize)?.take();
        if item.is_some() {
            self.free.push(slot);
        }
        item
    }

    /// The live items.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused() {
        let mut slots = Slots::default();
        let (a, b) = (slots.insert("a"), slots.insert("b"));
        assert_eq!((a, b), (0, 1));
        assert_eq!(slots.remove(a), Some("a"));
        assert_eq!(slots.remove(a), None);
        assert_eq!(slots.try_get(a), None);
        assert_eq!(slots.insert("c"), 0);
        assert_eq!(slots.iter().copied().collect::<Vec<_>>(), vec!["c", "b"]);
        *slots.get_mut(1) = "d";
        assert_eq!(*slots.get(1), "d");
    }
}
