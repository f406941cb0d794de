import { parseCsv, parseCsvObjects } from '../../producers/datasets/csv';

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, embedded commas and newlines, CRLF and a BOM', () => {
    const text = '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"line1\nline2",\n';
    expect(parseCsv(text)).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'line1\nline2', ''],
    ]);
  });
  it('maps rows to objects by header and keeps a last line without newline', () => {
    expect(parseCsvObjects('id,title\n1,Toy Story (1995)\n2,"Jumanji, The"')).toEqual([
      { id: '1', title: 'Toy Story (1995)' },
      { id: '2', title: 'Jumanji, The' },
    ]);
  });
});
