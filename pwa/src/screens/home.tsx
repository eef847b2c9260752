import { post } from "../api";
import { t, useLang, word } from "../i18n";
import { go } from "../router";
import { hasRole, session, signedOut, type Role } from "../session";
import { useStore } from "../store";
import { Screen } from "../ui";

interface Tile {
  path: string;
  icon: string;
  label: string;
  roles: Role[];
  /** only these roles, not the supervisor's and admin's blanket access (the server allows only them) */
  only?: boolean;
}

export function Home() {
  const l = useLang();
  const s = useStore(session);
  const tiles: Tile[] = [
    { path: "receive", icon: "⇩", label: t("home.receive"), roles: ["receiver"] },
    { path: "putaway", icon: "⇥", label: t("home.putaway"), roles: ["receiver"] },
    { path: "pick", icon: "✓", label: t("home.pick"), roles: ["picker"] },
    { path: "pack", icon: "▣", label: t("home.pack"), roles: ["picker"] },
    { path: "count", icon: "#", label: t("home.count"), roles: ["picker", "supervisor"] },
    { path: "move", icon: "⇄", label: t("home.move"), roles: ["picker", "receiver", "supervisor"] },
    { path: "counttasks", icon: "≣", label: t("home.countTasks"), roles: ["picker", "supervisor"] },
    { path: "qc", icon: "◈", label: t("home.qc"), roles: ["qa"], only: true },
    { path: "return", icon: "↩", label: t("home.returns"), roles: ["receiver", "qa", "supervisor"] },
    { path: "scrap", icon: "✕", label: t("home.scrap"), roles: ["qa", "supervisor"], only: true },
    { path: "gsp", icon: "§", label: t("home.gsp"), roles: ["qa", "supervisor"], only: true },
    { path: "lookup", icon: "?", label: t("home.lookup"), roles: ["picker", "receiver", "qa"] },
    { path: "sup", icon: "☰", label: t("home.supervisor"), roles: ["supervisor", "admin"], only: true },
  ];
  const mine = tiles.filter((tile) => (tile.only ? tile.roles.some((r) => s.user?.roles.includes(r)) : hasRole(...tile.roles)));
  return (
    <Screen title={t("home.title")} back={null} testId="home">
      <p class="who" data-testid="who">
        {s.user?.displayName} · <span data-testid="who-roles">{s.user?.roles.map((r) => word("role", r)).join(l === "zh-CN" ? "、" : ", ")}</span> · {s.deviceId}
      </p>
      <nav class="tiles">
        {mine.map((tile) => (
          <button type="button" class="tile" key={tile.path} data-testid={`tile-${tile.path}`} onClick={() => go(tile.path)}>
            <span class="tile-icon" aria-hidden="true">
              {tile.icon}
            </span>
            {tile.label}
          </button>
        ))}
      </nav>
      <div class="row">
        <button type="button" class="btn ghost" data-testid="tile-exceptions" onClick={() => go("exceptions")}>
          {t("home.exceptions")}
        </button>
        <button type="button" class="btn ghost" data-testid="tile-settings" onClick={() => go("settings")}>
          {t("home.settings")}
        </button>
        <button
          type="button"
          class="btn ghost"
          data-testid="logout"
          onClick={() => {
            void post("/api/v1/auth/logout").catch(() => undefined);
            signedOut();
          }}
        >
          {t("home.logout")}
        </button>
      </div>
    </Screen>
  );
}
