import { render } from "preact";
import { App } from "./app";
import { unlockAudio } from "./feedback";
import type { Problem } from "./api";
import { flush, onReplayed, startSync } from "./queue";
import { session } from "./session";
import { refuse } from "./ui";
import "./style.css";

unlockAudio();
// A scan taken offline and refused when it was replayed is as loud as a live refusal and takes the whole
// screen until acknowledged, whatever screen is open: the unit is already in the tote. It also stays
// under Exceptions until resolved.
onReplayed((q, accepted, body) => {
  if (accepted) return;
  refuse(body as Problem, undefined, { label: q.label, takenAt: q.takenAt, pick: /\/picking\/tasks\/\d+\/scans$/.test(q.path) });
});
startSync();
session.subscribe(() => void flush()); // someone signed in: their queued scans may go now
render(<App />, document.getElementById("app")!);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    /* http on a LAN address: no service worker, the app still works online */
  });
}
