/** A few paths, History API navigation; the node answers each of them with index.html. */
import { Store } from "./store";

export const path = new Store(location.pathname);

export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, "", to);
  path.set(to);
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => path.set(location.pathname));
