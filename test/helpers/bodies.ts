/** JSON bodies for bad-input property tests: anything at all, or a valid body with one field changed. */
import fc from "fast-check";

/** Values that break assumptions: wrong types, edges of number ranges, unicode, NUL, prototype names. */
const ODD_VALUES: readonly unknown[] = [
  -1,
  0,
  1.5,
  2 ** 53,
  1e308,
  "",
  "0",
  "-1",
  "1e5",
  "0.000000000000000000001",
  "9".repeat(400),
  "x".repeat(2000),
  "ＢＴＣ",
  "ｅｍａｉｌ@例え.jp",
  "\u0000",
  "__proto__",
  null,
  true,
  [],
  {},
  ["x".repeat(50)],
];

/**
 * A route of `valid` with a body: any JSON (weight 1), or that route's valid body with one field
 * replaced by an odd value (ODD_VALUES, `more` values, any JSON), dropped, or a field of `extras`
 * added (weight 2).
 */
export function bodies(
  valid: Record<string, Record<string, unknown>>,
  more: readonly unknown[],
  extras: readonly string[],
): fc.Arbitrary<{ route: string; body: unknown }> {
  const routes = Object.keys(valid);
  const odd = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...ODD_VALUES, ...more));
  return fc.oneof(
    {
      weight: 1,
      arbitrary: fc.record({
        route: fc.constantFrom(...routes),
        body: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>,
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          route: fc.constantFrom(...routes),
          action: fc.constantFrom("replace", "drop", "add"),
          pick: fc.nat(),
          value: odd,
          extra: fc.constantFrom("foo", "constructor", "__proto__", ...extras),
        })
        .map(({ route, action, pick, value, extra }) => {
          const b: Record<string, unknown> = { ...valid[route] };
          const keys = Object.keys(b);
          if (action === "replace" && keys.length > 0) b[keys[pick % keys.length]] = value;
          else if (action === "drop" && keys.length > 0) delete b[keys[pick % keys.length]];
          else b[extra] = value;
          return { route, body: b as unknown };
        }),
    },
  );
}
