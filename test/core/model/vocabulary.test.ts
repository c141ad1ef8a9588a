import { describe, expect, it } from "vitest";
import {
  DEFAULT_TRAINING_PARAMETERS,
  InvalidHyperparametersError,
  parseTrainingParameters,
} from "../../../core/model/parameters.ts";
import { ItemVocabulary } from "../../../core/model/vocabulary.ts";

describe("ItemVocabulary", () => {
  const vocabulary = ItemVocabulary.build(
    [
      ["a", "b", "a"],
      ["c", "a", "b"],
      ["rare", "a"],
    ],
    2,
  );

  it("indexes items seen at least minCount times from 1, most frequent first", () => {
    expect(vocabulary.items).toEqual(["a", "b"]);
    expect(vocabulary.counts).toEqual([4, 2]);
    expect(vocabulary.indexOf("a")).toBe(1);
    expect(vocabulary.skuAt(2)).toBe("b");
    expect(() => vocabulary.skuAt(3)).toThrow(RangeError);
  });

  it("drops out-of-vocabulary items from a session", () => {
    expect(vocabulary.encode(["rare", "b", "zzz", "a"])).toEqual([2, 1]);
    expect(vocabulary.encode(["c"])).toEqual([]);
  });

  it("round-trips through JSON and ranks the popular fallback by count", () => {
    const copy = ItemVocabulary.fromJSON(JSON.parse(JSON.stringify(vocabulary)));
    expect(copy.items).toEqual(vocabulary.items);
    expect(copy.popular(5).map((item) => item.sku)).toEqual(["a", "b"]);
    expect(() => ItemVocabulary.fromJSON({ items: ["a"], counts: [] })).toThrow(/same length/);
  });
});

describe("parseTrainingParameters", () => {
  it("fills missing fields with the defaults", () => {
    expect(parseTrainingParameters('{"epochs": 3}')).toEqual({ ...DEFAULT_TRAINING_PARAMETERS, epochs: 3 });
    expect(parseTrainingParameters(undefined)).toEqual(DEFAULT_TRAINING_PARAMETERS);
  });

  it("names the field and the problem", () => {
    expect(() => parseTrainingParameters('{"dropout": 2}')).toThrow(/dropout/);
    expect(() => parseTrainingParameters('{"hiddenDim": 1.5}')).toThrow(/hiddenDim/);
    expect(() => parseTrainingParameters('{"epoch": 3}')).toThrow(/epoch/);
    expect(() => parseTrainingParameters("[1]")).toThrow(InvalidHyperparametersError);
    expect(() => parseTrainingParameters("{")).toThrow(/not valid JSON/);
  });
});
