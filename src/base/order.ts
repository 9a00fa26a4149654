// Ordering and choosing in lists.

/** Natural order of names: simple-2 before simple-10. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** Things with names, in the natural order of their names. */
export function byName(a: { name: string }, b: { name: string }): number {
  return naturalCompare(a.name, b.name);
}

/** Picks `count` distinct random elements. */
export function pickRandom<T>(items: T[], count: number, random = Math.random): T[] {
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) {
    picked.push(...pool.splice(Math.floor(random() * pool.length), 1));
  }
  return picked;
}
