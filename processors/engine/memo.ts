/**
 * `f` computed once per key object and remembered for as long as the key lives (a WeakMap):
 * what the engine derives from a rule or a rule set is derived once, never per reading, and is
 * forgotten with the rule set when the rule file is reloaded.
 */
export function memoByObject<K extends object, V>(f: (key: K) => V): (key: K) => V {
  const memo = new WeakMap<K, V>();
  return (key) => {
    let v = memo.get(key);
    if (v === undefined) memo.set(key, (v = f(key)));
    return v;
  };
}
