import { fmt } from "../decimal";

/** An exchange decimal shown at the market's precision. */
export function Num(props: { value: string | undefined; decimals: number }) {
  return <>{fmt(props.value, props.decimals)}</>;
}
