// Whether the board is current: "live" once the server's snapshot arrived, "reconnecting in n s" while
// the socket is down (live.ts retries with backoff; the button tries at once).
import { useLang } from "../i18n";
import { Chip } from "./common";
import { live, reconnectNow } from "./live";
import { useStore } from "../store";
import { st } from "./messages";

export function LiveChip() {
  useLang();
  const s = useStore(live);
  if (s.status === "live")
    return (
      <span class="sup-live" data-testid="live-status" data-status="live">
        <Chip kind="ok">● {st("live.live")}</Chip>
      </span>
    );
  return (
    <span class="sup-live" data-testid="live-status" data-status={s.status}>
      <Chip kind="warn">{s.status === "connecting" ? st("live.connecting") : st("live.reconnecting", { n: s.retryIn })}</Chip>
      {s.status === "reconnecting" && (
        <button type="button" class="btn ghost" data-testid="live-reconnect" onClick={reconnectNow}>
          {st("live.now")}
        </button>
      )}
    </span>
  );
}
