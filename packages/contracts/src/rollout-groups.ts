/**
 * How a deployment's devices split into groups. A group is given either as
 * `percent`, the share of the whole deployment reached once it is done
 * (cumulative: 1 → 10 → 50 → 100), or as `count`, its own number of devices.
 * Every group gets at least one device while any are left, the last group
 * takes whatever remains, and groups that would be empty are dropped.
 */
export type GroupSpec = { percent: number } | { count: number };

/** The group sizes for `total` devices; the problem with the specs otherwise. */
export function planGroups(total: number, specs: readonly GroupSpec[]): number[] | string {
  if (!specs.length) return 'at least one group is needed';
  let lastPercent = 0;
  for (const s of specs) {
    if ('percent' in s) {
      if (!(s.percent > 0 && s.percent <= 100)) return 'a group percent is a share of the deployment, above 0 and at most 100';
      if (s.percent <= lastPercent) return 'group percents are cumulative (like 1, 10, 50, 100): each must be above the one before';
      lastPercent = s.percent;
    } else if (!(Number.isInteger(s.count) && s.count > 0)) return 'a group count is a whole number of devices, at least 1';
  }
  const sizes: number[] = [];
  let assigned = 0;
  for (const s of specs) {
    const left = total - assigned;
    if (left <= 0) break;
    const size = 'percent' in s ? Math.min(left, Math.max(1, Math.ceil((total * s.percent) / 100) - assigned)) : Math.min(left, s.count);
    sizes.push(size);
    assigned += size;
  }
  if (assigned < total) sizes[sizes.length - 1]! += total - assigned;
  return sizes;
}
