import { describe, expect, it } from 'vitest';
import { emptySelectorForm, formToSelector, selectorSummary, selectorToForm } from './fleets';

describe('fleet selectors', () => {
  it('sends only the criteria given, and none when there are none', () => {
    expect(formToSelector(emptySelectorForm())).toBeNull();
    expect(formToSelector({ projectId: '', templateId: 't1', tags: ' basement, eu,, eu ', firmware: ' <2.0.0 ' })).toEqual({
      templateId: 't1',
      tags: ['basement', 'eu'],
      firmware: '<2.0.0',
    });
  });

  it('round-trips a saved selector through the form', () => {
    const s = { projectId: 'p1', tags: ['a', 'b'], firmware: '>=1.2 <1.4' };
    expect(formToSelector(selectorToForm(s))).toEqual(s);
  });

  it('reads as one line with names', () => {
    const names = { projects: new Map([['p1', 'Plant A']]), templates: new Map([['t1', 'Boiler']]) };
    expect(selectorSummary({ templateId: 't1', firmware: '<2.0.0' }, names)).toBe('template Boiler · firmware <2.0.0');
    expect(selectorSummary({ projectId: 'p1', tags: ['eu'] }, names)).toBe('project Plant A · tag eu');
  });
});
