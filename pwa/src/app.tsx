import { t, useLang } from "./i18n";
import { lazyScreen } from "./lazy";
import { route } from "./router";
import { isSupervisor, session } from "./session";
import { useStore } from "./store";
import { RefusalScreen } from "./ui";
import { Login } from "./screens/login";
import { Home } from "./screens/home";
import { Lookup } from "./screens/lookup";
import { Exceptions } from "./screens/exceptions";
import { Settings } from "./screens/settings";
import { Receiving } from "./screens/receiving";
import { Putaway } from "./screens/putaway";
import { Picking } from "./screens/picking";
import { Packing } from "./screens/packing";
import { Count } from "./screens/count";
import { Move } from "./screens/move";
import { CountTasks } from "./screens/counttasks";
import { Qc } from "./screens/qc";
import { Returns } from "./screens/returns";
import { Gsp } from "./screens/gsp";
import { Scrap } from "./screens/scrap";

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
