//! Runs of a sequence's private blocks: one slot for consecutive private blocks, held by
//! their owner or aging in the LRU list as one entry (see the module docs of `kv`).

use std::ops::Range;

use super::{Kind, KvCache, NIL, OutOfBlocks, SeqBlocks, Slot};
use servesim_trace::BlockHash;

impl KvCache {
    /// The positions of run `slot` if the entry `(slot, generation)` is still live.
    fn live_run(&self, slot: u32, generation: u32) -> Option<Range<usize>> {
        let s = self.slots.get(slot as usize)?;
        (s.kind == Kind::Run && s.generation == generation)
            .then(|| s.position as usize..(s.position + s.count) as usize)
    }

    /// Walks the private positions `blocks` of `seq` in order, as maximal pieces each inside
    /// one cached run (`Some(slot)`) or inside none (`None`).
    pub(super) fn private_segments(
        &self,
        seq: &SeqBlocks,
        blocks: Range<usize>,
        mut piece: impl FnMut(Range<usize>, Option<u32>),
    ) {
        let mut at = blocks.start;
        for &(slot, generation) in &seq.runs {
            if at >= blocks.end {
                return;
            }
            let Some(run) = self.live_run(slot, generation) else {
                continue;
            };
            if run.end <= at {
                continue;
            }
            if run.start >= blocks.end {
                break;
            }
            if run.start > at {
                piece(at..run.start, None);
                at = run.start;
            }
            let end = run.end.min(blocks.end);
            piece(at..end, Some(slot));
            at = end;
        }
        if at < blocks.end {
            piece(at..blocks.end, None);
        }
    }

    /// Where the cached part of `seq`'s private positions `blocks` that starts at
    /// `blocks.start` ends.
    pub(super) fn private_prefix_end(&self, seq: &SeqBlocks, blocks: Range<usize>) -> usize {
        let mut end = blocks.start;
        self.private_segments(seq, blocks, |piece, run| {
            if run.is_some() && piece.start == end {
                end = piece.end;
            }
        });
        end
    }

    /// Makes the cached blocks `blocks` of the evictable run `run` the owner's again; what is
    /// left of the run keeps its place in the LRU list.
    pub(super) fn reactivate(&mut self, seq: &mut SeqBlocks, run: u32, blocks: Range<usize>) {
        let s = &mut self.slots[run as usize];
        if !s.evictable() {
            return;
        }
        let (start, end) = (s.position as usize, (s.position + s.count) as usize);
        let taken = blocks.len() as u64;
        self.inactive -= taken;
        self.active += taken;
        if blocks.end < end {
            // The deeper remainder is evicted first: it keeps the slot, and a shallower one
            // follows it in the list.
            s.position = blocks.end as u32;
            s.count = (end - blocks.end) as u32;
            if blocks.start > start {
                let front = self.new_run(start..blocks.start, false);
                self.link_after(run, front);
                self.record_run(seq, front);
            }
        } else if blocks.start > start {
            s.count = (blocks.start - start) as u32;
        } else {
            self.unlink_lru(run);
            self.free_slot(run);
        }
        self.hold(seq, blocks);
    }

    /// Stores the absent private blocks `blocks` of `seq`, evicting LRU blocks for room.
    pub(super) fn insert_private(
        &mut self,
        seq: &mut SeqBlocks,
        blocks: Range<usize>,
    ) -> Result<(), OutOfBlocks> {
        let wanted = blocks.len() as u64;
        self.make_room(wanted);
        let room = self.usage().free().min(wanted);
        if room > 0 {
            let stored = blocks.start..blocks.start + room as usize;
            self.active += room;
            self.private += room;
            self.events.private_range(true, stored.clone());
            self.hold(seq, stored);
        }
        if room < wanted {
            return Err(OutOfBlocks);
        }
        Ok(())
    }

    /// Releases `seq`'s held runs inside its private positions `blocks`, deepest first.
    pub(super) fn release_private(&mut self, seq: &mut SeqBlocks, blocks: Range<usize>) {
        let mut held = Vec::new();
        self.private_segments(seq, blocks.clone(), |_, run| {
            held.extend(run);
        });
        for run in held.into_iter().rev() {
            let s = &mut self.slots[run as usize];
            if s.evictable() {
                continue;
            }
            let end = (s.position + s.count) as usize;
            if end > blocks.end {
                // Blocks past the released ones stay held.
                s.count = (blocks.end - s.position as usize) as u32;
                let rest = self.new_run(blocks.end..end, true);
                self.record_run(seq, rest);
            }
            let s = &mut self.slots[run as usize];
            s.held = false;
            let count = u64::from(s.count);
            self.active -= count;
            self.inactive += count;
            self.push_lru(run);
        }
    }

    /// Marks the private positions `blocks` of `seq` held, extending (and joining) the held
    /// runs next to them.
    fn hold(&mut self, seq: &mut SeqBlocks, blocks: Range<usize>) {
        let added = blocks.len() as u32;
        let run = match self.held_run(seq, |run| run.end == blocks.start) {
            Some(before) => {
                self.slots[before as usize].count += added;
                before
            }
            None => {
                let run = self.new_run(blocks.clone(), true);
                self.record_run(seq, run);
                run
            }
        };
        if let Some(after) = self.held_run(seq, |run| run.start == blocks.end) {
            let joined = self.slots[after as usize].count;
            self.slots[run as usize].count += joined;
            self.free_slot(after);
        }
    }

    /// The held run of `seq` whose positions satisfy `test`.
    fn held_run(&self, seq: &SeqBlocks, test: impl Fn(&Range<usize>) -> bool) -> Option<u32> {
        seq.runs.iter().find_map(|&(slot, generation)| {
            let run = self.live_run(slot, generation)?;
            (!self.slots[slot as usize].evictable() && test(&run)).then_some(slot)
        })
    }

    /// A new run slot over `blocks` (not linked into the LRU list).
    fn new_run(&mut self, blocks: Range<usize>, held: bool) -> u32 {
        self.new_slot(Slot {
            hash: BlockHash(0),
            position: blocks.start as u32,
            count: blocks.len() as u32,
            prev: NIL,
            next: NIL,
            generation: 0,
            kind: Kind::Run,
            held,
        })
    }

    /// Records run `slot` in `seq`, keeping the entries in position order and dropping
    /// stale ones.
    fn record_run(&self, seq: &mut SeqBlocks, slot: u32) {
        let generation = self.slots[slot as usize].generation;
        seq.runs
            .retain(|&(s, g)| self.live_run(s, g).is_some() && s != slot);
        seq.runs.push((slot, generation));
        seq.runs
            .sort_by_key(|&(s, _)| self.slots[s as usize].position);
    }
}
