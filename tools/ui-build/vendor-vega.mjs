// Vega-Lite → Vega → SVG in Node, for cards: the interpreter evaluates expressions without eval.
export { View, parse, loader } from 'vega';
export { compile } from 'vega-lite';
export { expressionInterpreter } from 'vega-interpreter';
