import type { TSchema } from 'typebox';
import { ConfigSchema, type SectionName } from './schema.ts';

/** A schema node plus the custom annotations our schema uses (see schema.ts). */
export type SettingSchema = TSchema & {
  description?: string;
  default?: unknown;
  allowed?: string;
  secret?: boolean | 'url';
  type?: string;
  minimum?: number;
  maximum?: number;
  items?: SettingSchema;
};

export interface Setting {
  readonly section: SectionName;
  readonly key: string;
  /** `section.key`, the name used in every message. */
  readonly path: string;
  /** `TESSERA_SECTION_KEY`. */
  readonly envName: string;
  readonly schema: SettingSchema;
}

export interface Section {
  readonly name: SectionName;
  readonly schema: SettingSchema;
  readonly settings: readonly Setting[];
}

function sectionsOf(): Section[] {
  return Object.entries(ConfigSchema.properties).map(([name, sectionSchema]) => {
    const section = name as SectionName;
    const properties = (sectionSchema as { properties: Record<string, SettingSchema> }).properties;
    const settings = Object.entries(properties).map(([key, schema]) => ({
      section,
      key,
      path: `${section}.${key}`,
      envName: `TESSERA_${section.toUpperCase()}_${key.toUpperCase()}`,
      schema,
    }));
    return { name: section, schema: sectionSchema as SettingSchema, settings };
  });
}

export const SECTIONS: readonly Section[] = sectionsOf();

export const SETTINGS: readonly Setting[] = SECTIONS.flatMap((section) => section.settings);

export function findSetting(section: string, key: string): Setting | undefined {
  return SETTINGS.find((setting) => setting.section === section && setting.key === key);
}
