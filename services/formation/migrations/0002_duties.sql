-- R5 (the plan's 二(四)4): registry's survey fact "staffed mainly by 机关事业单位人员" (null: not surveyed).
ALTER TABLE known_entities ADD COLUMN public_sector_staffed BOOLEAN;
