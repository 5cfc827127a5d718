// A weighted random pick, as in the users' guides: `list` holds `{ weight, fn }` entries whose
// weights add up to 1.
export function weightedRandom(list) {
  let roll = Math.random();
  for (const item of list) {
    if (roll < item.weight) return item;
    roll -= item.weight;
  }
  return list[list.length - 1];
}
