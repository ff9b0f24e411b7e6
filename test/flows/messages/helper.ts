export const double = (x: number): number => 2 * x;
