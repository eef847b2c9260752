import { t, useLang } from "./i18n";
import { lazyScreen } from "./lazy";
import { route } from "./router";
import { isSupervisor, session } from "./session";
import { useStore } from "./store";
import { RefusalScreen } from "./ui";
import { Login } from "./screens/login";
import { Home } from "./screens/home";

// Every screen but sign-in and home is its own chunk, so the first screen starts on less JavaScript (issue 21:
// <= 30 kB on the wire).
// The service worker precaches them after the first visit (vite.config.ts), so they open offline too.
const Lookup = lazyScreen(() => t("lookup.title"), "lookup", () => import("./screens/lookup").then((m) => m.Lookup));
const Exceptions = lazyScreen(() => t("exceptions.title"), "exceptions", () => import("./screens/exceptions").then((m) => m.Exceptions));
const Settings = lazyScreen(() => t("settings.title"), "settings", () => import("./screens/settings").then((m) => m.Settings));
const Picking = lazyScreen(() => t("pick.title"), "pick", () => import("./screens/picking").then((m) => m.Picking));
const Receiving = lazyScreen(() => t("receive.title"), "receive", () => import("./screens/receiving").then((m) => m.Receiving));
const Putaway = lazyScreen(() => t("putaway.title"), "putaway", () => import("./screens/putaway").then((m) => m.Putaway));
const Packing = lazyScreen(() => t("pack.title"), "packing", () => import("./screens/packing").then((m) => m.Packing));
const Count = lazyScreen(() => t("count.title"), "count", () => import("./screens/count").then((m) => m.Count));
const Move = lazyScreen(() => t("move.title"), "move", () => import("./screens/move").then((m) => m.Move));
const CountTasks = lazyScreen(() => t("ctask.title"), "count-tasks", () => import("./screens/counttasks").then((m) => m.CountTasks));
const Qc = lazyScreen(() => t("qc.title"), "qc", () => import("./screens/qc").then((m) => m.Qc));
const Returns = lazyScreen(() => t("ret.title"), "return", () => import("./screens/returns").then((m) => m.Returns));
const Scrap = lazyScreen(() => t("scrap.title"), "scrap", () => import("./screens/scrap").then((m) => m.Scrap));
const Gsp = lazyScreen(() => t("gsp.title"), "gsp", () => import("./screens/gsp").then((m) => m.Gsp));

// supervisors and admins only: its own chunk, so a picker's handheld never loads it
const Supervisor = lazyScreen(
  () => t("sup.title"),
  "supervisor",
  () => import("./supervisor/supervisor").then((m) => m.SupervisorArea),
);

const SCREENS: Record<string, (p: { args: string[] }) => preact.JSX.Element> = {
  home: Home,
  lookup: Lookup,
  exceptions: Exceptions,
  settings: Settings,
  receive: Receiving,
  putaway: Putaway,
  pick: Picking,
  pack: Packing,
  count: Count,
  move: Move,
  counttasks: CountTasks,
  qc: Qc,
  return: Returns,
  scrap: Scrap,
  gsp: Gsp,
  sup: Supervisor,
};

export function App() {
  const s = useStore(session);
  const r = useStore(route);
  useLang();
  if (!s.token) return <Login />;
  // the server refuses a picker every supervisor call anyway; the area is not even offered
  const Current = (r.path === "sup" && !isSupervisor() ? null : SCREENS[r.path]) ?? Home;
  return (
    <>
      <Current args={r.args} key={r.path} />
      <RefusalScreen />
    </>
  );
}
