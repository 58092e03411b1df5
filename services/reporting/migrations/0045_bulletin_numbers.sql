-- The 通报's 文号 (e.g. 武组通〔2016〕3号), assigned at publication: numbered per year of the publication date,
-- unique. Bulletins published before the 通报 layout have none (NULL).
ALTER TABLE bulletins ADD COLUMN number_year INTEGER;
ALTER TABLE bulletins ADD COLUMN number_in_year INTEGER;
ALTER TABLE bulletins ADD COLUMN document_number TEXT UNIQUE;
ALTER TABLE bulletins ADD CONSTRAINT bulletins_number_unique UNIQUE (number_year, number_in_year);
