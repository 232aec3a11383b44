import { type MantineColorsTuple, createTheme } from '@mantine/core';
import type { Theme } from './api/types';

/** The platform's accent from the session, as Mantine's primary colour (every shade one colour). */
export function mantineTheme(theme: Theme | undefined) {
  const accent = theme?.accent_color;
  if (!accent) return createTheme({ primaryColor: 'indigo' });
  const shades = Array.from({ length: 10 }, () => accent) as unknown as MantineColorsTuple;
  return createTheme({ primaryColor: 'accent', colors: { accent: shades }, primaryShade: 6 });
}
