// Every runtime setting of pen, with pen's defaults. Only server/control changes these. The fields
// and their defaults are the rows of shared/settings.ts (a row's key, its kind's type, its
// default): every field is a setting some command or flag sets, so none is declared here by hand.
import { SETTINGS, settingDefaults, type Setting, type SettingsOf } from '../../shared/settings.ts';

export type Settings = SettingsOf<Setting>;
export type SslSettings = Settings['ssl'];

export function defaultSettings(): Settings {
  return settingDefaults(SETTINGS) as Settings;
}
