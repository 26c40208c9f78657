/**
 * Wakes live subscribers when the log may have grown. It carries no events, only
 * "the head may now be at least N": subscribers always read the events themselves
 * from the store, so a lost or coalesced wake-up can delay but never drop or
 * reorder an event.
 */
export interface LogNotifier {
  /** Called by this process's writer after a commit that wrote events. */
  notify(headPosition: number): void;
  /** `listener` runs (possibly coalesced) whenever the head may have moved. Returns an unsubscribe. */
  subscribe(listener: (headPosition: number) => void): () => void;
  close(): Promise<void>;
}
