/** Who is logged in, and the app's configuration from the node. */
import { ApiFailure, type Me, set_csrf, type WebConfig, web } from "./api";
import { Store } from "./store";

/** undefined while loading; null when logged out. */
export const me = new Store<Me | null | undefined>(undefined);
export const config = new Store<WebConfig>({ demo: false, status_url: null, password_length_min: 10 });

export function logged_in(m: Me): void {
  set_csrf(m.csrf);
  me.set(m);
}

export async function load_session(): Promise<void> {
  try {
    config.set(await web<WebConfig>("GET", "config"));
  } catch {
    // unreachable: the defaults do; the feed shows the state
  }
  try {
    logged_in(await web<Me>("GET", "me"));
  } catch (error) {
    // 401: logged out. No answer: keep "loading" and let the outage banner speak.
    if (error instanceof ApiFailure && !error.network && error.status !== 0) me.set(null);
  }
}

export async function log_out(everywhere: boolean): Promise<void> {
  await web("POST", everywhere ? "logout-all" : "logout");
  set_csrf("");
  me.set(null);
}
