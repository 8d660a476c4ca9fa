-- What storage had to clean to store the row (NUL bytes, lone surrogates → U+FFFD), and the exact
-- bytes of a file name / URI that is not valid UTF-8 (NULL when the text column is exact).
ALTER TABLE documents ADD COLUMN cleaned jsonb;
ALTER TABLE documents ADD COLUMN filename_bytes bytea;
ALTER TABLE documents ADD COLUMN uri_bytes bytea;
