import { useState } from "preact/hooks";
import { setLang, t, useLang } from "../i18n";
import { scanGapMs } from "../scanner";
import { session } from "../session";
import { useStore } from "../store";
import { Screen } from "../ui";

export function Settings() {
  const l = useLang();
  const s = useStore(session);
  const [gap, setGap] = useState(String(scanGapMs()));
  return (
    <Screen title={t("settings.title")} testId="settings">
      <div class="form">
        <fieldset class="choice">
          <legend>{t("common.language")}</legend>
          <button type="button" class={l === "zh-CN" ? "btn selected" : "btn"} data-testid="lang-zh" onClick={() => setLang("zh-CN")}>
            简体中文
          </button>
          <button type="button" class={l === "en" ? "btn selected" : "btn"} data-testid="lang-en" onClick={() => setLang("en")}>
            English
          </button>
        </fieldset>
        <label>
          {t("settings.gap")}
          <input
            type="number"
            min={20}
            max={1000}
            inputMode="numeric"
            value={gap}
            data-testid="settings-gap"
            onChange={(e) => {
              const v = (e.target as HTMLInputElement).value;
              setGap(v);
              localStorage.setItem("udipick.scanGapMs", v);
            }}
          />
        </label>
        <label>
          {t("login.device")}
          <output data-testid="settings-device">{s.deviceId}</output>
        </label>
        <p class="muted">{t("settings.separators")}</p>
      </div>
    </Screen>
  );
}
