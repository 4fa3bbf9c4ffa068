// A response cache keyed by (agent, model, input): a Map in insertion order serves as an LRU
// (a hit moves the entry to the end), entries expire after a TTL. Bounded in entries and in
// bytes (CACHE_MAX_BYTES, as the caller measures an entry): the least recently used go first.
import { createHash } from 'node:crypto';

export class ResponseCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number; bytes: number }>();
  private totalBytes = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly maxBytes: number = Infinity,
    private readonly now: () => number = Date.now,
  ) {}

  static key(...parts: string[]): string {
    // Hashed so that a 64 KiB prompt does not become a 64 KiB map key, and part by part so that
    // it is not copied into a joined string first (a run's input is otherwise copied 4 times:
    // the body decoded, parsed, this key and the stored record).
    const digest = createHash('sha256');
    for (const part of parts) digest.update(part).update('\u0000');
    return digest.digest('base64url');
  }

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0 && this.maxBytes > 0;
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.remove(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    return entry.value;
  }

  set(key: string, value: T, bytes = 0): void {
    if (!this.enabled || bytes > this.maxBytes) return;
    this.remove(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs, bytes });
    this.totalBytes += bytes;
    while (this.entries.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      this.remove(this.entries.keys().next().value as string);
    }
  }

  /** What the entries take, as measured by the callers of `set`. */
  get bytes(): number {
    return this.totalBytes;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
