/**
 * Waits for a condition driven by real I/O (sockets on loopback). Polls every 10 ms; fails with
 * the condition's source after `timeoutMs`, which is a hang detector, not a timing assertion.
 */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`waitFor: still false after ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Active handles of kinds that leak (sockets, servers, timers), for before/after comparisons. */
export function activeHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPServerWrap' || kind === 'Timeout')
    .sort();
}
