import { type FormEvent, useState } from "react";
import { ApiFailure, type Me, web } from "../api";
import { navigate } from "../router";
import { config, logged_in } from "../session";
import { useStore } from "../store";
import { Link } from "./Link";

const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;

export function AuthPage(props: { mode: "login" | "signup" }) {
  const cfg = useStore(config);
  const [email, set_email] = useState("");
  const [password, set_password] = useState("");
  const [totp, set_totp] = useState("");
  const [need_totp, set_need_totp] = useState(false);
  const [error, set_error] = useState<{ field: string | null; text: string } | null>(null);
  const [busy, set_busy] = useState(false);
  const signup = props.mode === "signup";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const e = email.trim();
    if (!EMAIL_RE.test(e) || e.length > 254)
      return set_error({ field: "email", text: "Enter your e-mail address, like name@example.com." });
    if (signup && password.length < cfg.password_length_min)
      return set_error({
        field: "password",
        text: `Choose a password of at least ${cfg.password_length_min} characters.`,
      });
    if (password.length === 0 || password.length > 128)
      return set_error({ field: "password", text: "Enter your password (at most 128 characters)." });
    if (need_totp && !/^[0-9]{6}$/.test(totp.trim()))
      return set_error({ field: "totp", text: "Enter the 6-digit code from your authenticator app." });
    set_error(null);
    set_busy(true);
    try {
      const body: Record<string, string> = { email: e, password };
      if (need_totp) body.totp = totp.trim();
      const m = await web<Me>("POST", signup ? "signup" : "login", body);
      logged_in(m);
      navigate(signup ? "/account" : "/");
    } catch (err) {
      const f = err as ApiFailure;
      if (f instanceof ApiFailure && f.body.totp_required === true) {
        set_need_totp(true);
        if (need_totp) set_error({ field: "totp", text: f.message });
        else set_error(null);
      } else set_error({ field: f instanceof ApiFailure ? f.field : null, text: f.message });
    } finally {
      set_busy(false);
    }
  };

  const described = (field: string) => (error?.field === field ? "auth-error" : undefined);
  return (
    <div className="narrow">
      <h1>{signup ? "Create your account" : "Log in"}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="card">
        <div className="field">
          <label htmlFor="email">E-mail address</label>
          <input
            id="email"
            type="email"
            autoComplete={signup ? "email" : "username"}
            value={email}
            maxLength={254}
            onChange={(e) => set_email(e.target.value)}
            aria-invalid={error?.field === "email"}
            aria-describedby={described("email")}
          />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            value={password}
            maxLength={128}
            onChange={(e) => set_password(e.target.value)}
            aria-invalid={error?.field === "password"}
            aria-describedby={described("password")}
          />
          {signup ? <p className="small muted">At least {cfg.password_length_min} characters.</p> : null}
        </div>
        {need_totp ? (
          <div className="field">
            <label htmlFor="totp">Two-factor code</label>
            <input
              id="totp"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              value={totp}
              onChange={(e) => set_totp(e.target.value)}
              aria-invalid={error?.field === "totp"}
              aria-describedby={described("totp")}
              // biome-ignore lint/a11y/noAutofocus: the code field appears because the user must fill it next
              autoFocus
            />
            <p className="small muted">The 6-digit code your authenticator app shows for Holdfast.</p>
          </div>
        ) : null}
        {error ? (
          <p className="form-error" id="auth-error" role="alert">
            {error.text}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {signup ? "Sign up" : need_totp ? "Verify and log in" : "Log in"}
        </button>
      </form>
      <p>
        {signup ? (
          <>
            Already have an account? <Link to="/login">Log in</Link>
          </>
        ) : (
          <>
            New here? <Link to="/signup">Create an account</Link>
          </>
        )}
      </p>
    </div>
  );
}
