import { useState } from "preact/hooks";
import { post, ProblemError, OfflineError, type Schemas } from "../api";
import { sayProblem, setLang, t } from "../i18n";
import { session, signedIn } from "../session";
import { useStore } from "../store";
import { LangSwitch } from "../ui";

export function Login() {
  const s = useStore(session);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [deviceId, setDeviceId] = useState(s.deviceId);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const out = await post<Schemas["LoginOut"]>("/api/v1/auth/login", {
        username: username.trim(),
        password,
        deviceId: deviceId.trim() || s.deviceId,
      } satisfies Schemas["LoginIn"]);
      if (out.user.language && !localStorage.getItem("udipick.lang")) setLang(out.user.language === "zh-CN" ? "zh-CN" : "en");
      signedIn(out.token, out.user, out.deviceId);
      location.hash = "#/home";
    } catch (err) {
      if (err instanceof ProblemError) setError(sayProblem(err.problem).headline);
      else if (err instanceof OfflineError) setError(t("login.offline"));
      else setError(String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="screen login" data-testid="login">
      <header class="bar">
        <span class="brand">udipick</span>
        <h1 class="title">{t("login.title")}</h1>
        <LangSwitch />
      </header>
      <form class="content form" onSubmit={submit}>
        <label>
          {t("login.user")}
          <input
            name="username"
            data-testid="login-user"
            autocomplete="username"
            autocapitalize="off"
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            data-testid="login-password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <label>
          {t("login.device")}
          <input
            name="deviceId"
            data-testid="login-device"
            value={deviceId}
            maxLength={64}
            onInput={(e) => setDeviceId((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="btn big primary" disabled={busy} data-testid="login-submit">
          {t("login.submit")}
        </button>
      </form>
    </main>
  );
}
