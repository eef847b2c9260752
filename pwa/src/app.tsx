import { useLang } from "./i18n";
import { route } from "./router";
import { session } from "./session";
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
import { Qc } from "./screens/qc";

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
  qc: Qc,
};

export function App() {
  const s = useStore(session);
  const r = useStore(route);
  useLang();
  if (!s.token) return <Login />;
  const Current = SCREENS[r.path] ?? Home;
  return (
    <>
      <Current args={r.args} key={r.path} />
      <RefusalScreen />
    </>
  );
}
