import { render } from "preact";
import { App } from "./app";
import { unlockAudio } from "./feedback";
import { flush, startSync } from "./queue";
import { session } from "./session";
import "./style.css";

unlockAudio();
startSync();
session.subscribe(() => void flush()); // someone signed in: their queued scans may go now
render(<App />, document.getElementById("app")!);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    /* http on a LAN address: no service worker, the app still works online */
  });
}
