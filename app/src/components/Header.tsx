import { useState } from "react";
import { navigate } from "../router";
import { log_out, me } from "../session";
import { useStore } from "../store";
import { Link } from "./Link";

type Theme = "light" | "dark";
const stored = (): Theme | null => {
  const t = localStorage.getItem("theme");
  return t === "light" || t === "dark" ? t : null;
};

export function apply_theme(theme: Theme | null): void {
  if (theme === null) delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}
apply_theme(stored());

export function Header() {
  const user = useStore(me);
  const [theme, set_theme] = useState<Theme | null>(stored());
  const dark = theme === "dark" || (theme === null && matchMedia("(prefers-color-scheme: dark)").matches);
  const toggle = () => {
    const next: Theme = dark ? "light" : "dark";
    localStorage.setItem("theme", next);
    apply_theme(next);
    set_theme(next);
  };
  return (
    <header className="top">
      <Link to="/" className="brand">
        Holdfast
      </Link>
      <nav aria-label="Main">
        <Link to="/">Trade</Link>
        {user ? <Link to="/account">Account</Link> : null}
      </nav>
      <div className="spacer" />
      <button
        type="button"
        className="ghost"
        onClick={toggle}
        aria-label={`Switch to ${dark ? "light" : "dark"} theme`}
      >
        {dark ? "☀ Light" : "☾ Dark"}
      </button>
      {user ? (
        <>
          <span className="who" data-testid="user-email">
            {user.email}
          </span>
          <button
            type="button"
            className="ghost"
            onClick={() => void log_out(false).then(() => navigate("/login"))}
          >
            Log out
          </button>
        </>
      ) : user === null ? (
        <>
          <Link to="/login">Log in</Link>
          <Link to="/signup" className="button">
            Sign up
          </Link>
        </>
      ) : null}
    </header>
  );
}
