import { type MantineColorsTuple, createTheme } from '@mantine/core';
import type { Theme } from './api/types';

/** #rrggbb mixed with white (amount > 0) or black (amount < 0). */
function mix(hex: string, amount: number): string {
  const target = amount > 0 ? 255 : 0;
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `#${channels
    .map((c) => Math.round(c + (target - c) * Math.abs(amount)))
    .map((c) => c.toString(16).padStart(2, '0'))
    .join('')}`;
}

/**
 * The platform's accent from the session as Mantine's primary colour: ten shades around it,
 * the accent itself at shade 6 (the one filled buttons use), lighter ones for the light
 * variants' backgrounds, darker ones for hover.
 */
export function mantineTheme(theme: Theme | undefined) {
  const accent = theme?.accent_color;
  if (!accent || !/^#[0-9a-fA-F]{6}$/.test(accent)) return createTheme({ primaryColor: 'indigo' });
  const shades = [0.92, 0.8, 0.65, 0.5, 0.35, 0.18, 0, -0.15, -0.3, -0.45].map((a) => (a === 0 ? accent.toLowerCase() : mix(accent, a)));
  return createTheme({ primaryColor: 'accent', colors: { accent: shades as unknown as MantineColorsTuple }, primaryShade: 6 });
}
