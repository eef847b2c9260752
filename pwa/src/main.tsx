import { render } from "preact";
import { App } from "./app";
import { unlockAudio } from "./feedback";
import { startSync } from "./queue";
import "./style.css";

unlockAudio();
startSync();
render(<App />, document.getElementById("app")!);

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    /* http on a LAN address: no service worker, the app still works online */
  });
}
