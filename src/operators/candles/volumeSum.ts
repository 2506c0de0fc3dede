/**
 * Volume totals that match the venue's decimal figures. Summing decimal quantities in binary
 * floating point drifts (0.1 + 0.2 !== 0.3); a compensated (Neumaier) sum rounded to the venue's
 * decimals gives back the exact decimal total whenever a double can hold it.
 */
export class VolumeSum {
  #sum = 0;
  #compensation = 0;

  add(value: number): void {
    const total = this.#sum + value;
    if (Math.abs(this.#sum) >= Math.abs(value)) this.#compensation += this.#sum - total + value;
    else this.#compensation += value - total + this.#sum;
    this.#sum = total;
  }

  reset(): void {
    this.#sum = 0;
    this.#compensation = 0;
  }

  /** The total, rounded to `decimals` places when the scaled value is an exact integer in a double. */
  value(decimals: number): number {
    return roundTo(this.#sum + this.#compensation, decimals);
  }
}

/** Rounds to `decimals` places when that is representable; otherwise returns `value` unchanged. */
export function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  const scaled = value * scale;
  return Math.abs(scaled) < Number.MAX_SAFE_INTEGER ? Math.round(scaled) / scale : value;
}
