import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** @card: the task opens a card before the step runs (task/execute.ts); its title is part of the cached result. */
export const cardDecorator = defineDecorator({
  name: 'card',
  target: 'step',
  summary: "Give the step's tasks a card: a report built with currentCard.append(...), shown by flow ui and exported by flow card.",
  options: {
    title: option.string("the card's title"),
  },
  hooks: {
    card: (o) => ({ title: o.title }),
    changesResult: true,
  },
});
