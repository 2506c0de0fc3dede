/**
 * A fixed-size window over the most recent numbers of a series, with the add/replace semantics of
 * indicators: `update(x, false)` appends (dropping the oldest value once full), `update(x, true)`
 * overwrites the newest value. A ring buffer, so updates never copy or shift the window.
 */
export class RollingWindow {
  readonly capacity: number;
  readonly #values: Float64Array;
  /** Slot of the oldest value. */
  #start = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Window capacity "${capacity}" must be a positive integer`);
    this.capacity = capacity;
    this.#values = new Float64Array(capacity);
  }

  /** Number of values held (at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.capacity;
  }

  /** Appends `value`, or overwrites the newest value when `replace` is set (and there is one). */
  update(value: number, replace: boolean): void {
    if (replace && this.#size > 0) {
      this.#values[(this.#start + this.#size - 1) % this.capacity] = value;
    } else if (this.#size < this.capacity) {
      this.#values[(this.#start + this.#size) % this.capacity] = value;
      this.#size++;
    } else {
      this.#values[this.#start] = value;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** The value `age` steps back from the newest (0 = newest), or undefined when not held. */
  back(age: number): number | undefined {
    if (age < 0 || age >= this.#size) return undefined;
    return this.#values[(this.#start + this.#size - 1 - age) % this.capacity];
  }

  /** The `index`-th value from the oldest held (0 = oldest). */
  at(index: number): number | undefined {
    if (index < 0 || index >= this.#size) return undefined;
    return this.#values[(this.#start + index) % this.capacity];
  }

  /** Largest of the newest `count` values (all held values when fewer). */
  maxOfLast(count: number): number {
    let max = -Infinity;
    for (let age = Math.min(count, this.#size) - 1; age >= 0; age--) {
      const value = this.#values[(this.#start + this.#size - 1 - age) % this.capacity] ?? -Infinity;
      if (value > max) max = value;
    }
    return max;
  }

  /** Smallest of the newest `count` values (all held values when fewer). */
  minOfLast(count: number): number {
    let min = Infinity;
    for (let age = Math.min(count, this.#size) - 1; age >= 0; age--) {
      const value = this.#values[(this.#start + this.#size - 1 - age) % this.capacity] ?? Infinity;
      if (value < min) min = value;
    }
    return min;
  }

  /** Sum of the held values, oldest first. */
  sum(): number {
    let total = 0;
    for (let index = 0; index < this.#size; index++) total += this.#values[(this.#start + index) % this.capacity] ?? 0;
    return total;
  }
}
