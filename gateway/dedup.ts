/**
 * De-duplication of alert events on `eventId`. The processors are at-least-once: after a
 * restart they regenerate the events since their last commit with the same ids, and the
 * gateway forwards each id once. Bounded: the oldest ids go first (a duplicate arrives within
 * one processor commit interval of the original, far inside the bound).
 */
import { LRUCache } from 'lru-cache';

export class RecentIds {
  private readonly seen: LRUCache<string, true>;

  constructor(max: number) {
    this.seen = new LRUCache<string, true>({ max });
  }

  /** True the first time an id is offered (and remembers it), false for a repeat. */
  addIfNew(id: string): boolean {
    // `has` does not refresh an entry, so eviction stays in first-seen order.
    if (this.seen.has(id)) return false;
    this.seen.set(id, true);
    return true;
  }
}
