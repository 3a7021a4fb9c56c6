-- The batch job's cleaning and nine insights written as SQL for DuckDB: the single-machine engine a user might
-- pick instead of Spark. Same rules as src/pinterest_pipeline (see README, "Cleaning rules" and "Insights").
-- {raw} is replaced by the raw root. Every value is read as text, as the Spark job does, then cast.

CREATE OR REPLACE MACRO null_placeholder(x) AS CASE WHEN x IN ('', 'No Title Data Available',
    'No description available Story format', 'No description available', 'Untitled', 'User Info Error',
    'N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e', 'Image src error.') THEN NULL ELSE x END;
CREATE OR REPLACE MACRO followers(x) AS CASE WHEN regexp_full_match(trim(x), '\d+(\.\d+)?[kKmM]?')
    THEN round(CAST(regexp_extract(trim(x), '^(\d+(\.\d+)?)', 1) AS DECIMAL(20, 3))
         * CASE lower(regexp_extract(trim(x), '([kKmM]?)$', 1)) WHEN 'k' THEN 1000 WHEN 'm' THEN 1000000 ELSE 1 END)::BIGINT
    END;
CREATE OR REPLACE MACRO ts(x) AS coalesce(try_strptime(x, '%Y-%m-%d %H:%M:%S'), try_strptime(x, '%Y-%m-%dT%H:%M:%S'));
CREATE OR REPLACE MACRO age_group(a) AS CASE WHEN a BETWEEN 18 AND 24 THEN '18-24' WHEN a BETWEEN 25 AND 35 THEN '25-35'
    WHEN a BETWEEN 36 AND 50 THEN '36-50' WHEN a > 50 THEN '+50' END;

CREATE OR REPLACE TABLE pin AS
SELECT TRY_CAST("index" AS BIGINT) AS ind, unique_id, null_placeholder(trim(title)) AS title,
       null_placeholder(description) AS description, followers(follower_count) AS follower_count,
       null_placeholder(trim(poster_name)) AS poster_name, null_placeholder(tag_list) AS tag_list, is_image_or_video,
       null_placeholder(image_src) AS image_src, trim(regexp_replace(save_location, '^\s*Local save in\s*', '')) AS save_location,
       category
FROM read_json('{raw}/topics/pinterest.pin/partition=*/*.json', format = 'newline_delimited', filename = true,
     columns = {"index": 'VARCHAR', unique_id: 'VARCHAR', title: 'VARCHAR', description: 'VARCHAR', poster_name: 'VARCHAR',
                follower_count: 'VARCHAR', tag_list: 'VARCHAR', is_image_or_video: 'VARCHAR', image_src: 'VARCHAR',
                downloaded: 'VARCHAR', save_location: 'VARCHAR', category: 'VARCHAR'})
WHERE TRY_CAST("index" AS BIGINT) IS NOT NULL
  AND (follower_count IS NULL OR trim(follower_count) = 'User Info Error' OR followers(follower_count) IS NOT NULL)
QUALIFY row_number() OVER (PARTITION BY TRY_CAST("index" AS BIGINT) ORDER BY filename) = 1;

CREATE OR REPLACE TABLE geo AS
SELECT TRY_CAST(ind AS BIGINT) AS ind, country, [TRY_CAST(latitude AS DOUBLE), TRY_CAST(longitude AS DOUBLE)] AS coordinates,
       ts("timestamp") AS "timestamp"
FROM read_json('{raw}/topics/pinterest.geo/partition=*/*.json', format = 'newline_delimited', filename = true,
     columns = {ind: 'VARCHAR', "timestamp": 'VARCHAR', latitude: 'VARCHAR', longitude: 'VARCHAR', country: 'VARCHAR'})
WHERE TRY_CAST(ind AS BIGINT) IS NOT NULL AND ("timestamp" IS NULL OR ts("timestamp") IS NOT NULL)
QUALIFY row_number() OVER (PARTITION BY TRY_CAST(ind AS BIGINT) ORDER BY filename) = 1;

CREATE OR REPLACE TABLE usr AS
SELECT TRY_CAST(ind AS BIGINT) AS ind, nullif(trim(concat_ws(' ', first_name, last_name)), '') AS user_name,
       TRY_CAST(age AS INTEGER) AS age, ts(date_joined) AS date_joined
FROM read_json('{raw}/topics/pinterest.user/partition=*/*.json', format = 'newline_delimited', filename = true,
     columns = {ind: 'VARCHAR', first_name: 'VARCHAR', last_name: 'VARCHAR', age: 'VARCHAR', date_joined: 'VARCHAR'})
WHERE TRY_CAST(ind AS BIGINT) IS NOT NULL AND (date_joined IS NULL OR ts(date_joined) IS NOT NULL)
QUALIFY row_number() OVER (PARTITION BY TRY_CAST(ind AS BIGINT) ORDER BY filename) = 1;

CREATE OR REPLACE TABLE pg AS SELECT * FROM pin JOIN geo USING (ind);
CREATE OR REPLACE TABLE pu AS SELECT *, age_group(age) AS age_group, year(date_joined) AS join_year FROM pin JOIN usr USING (ind);

CREATE OR REPLACE TABLE popular_category_by_country AS
SELECT country, category, category_count FROM (SELECT country, category, count(*) AS category_count FROM pg
  WHERE country IS NOT NULL AND category IS NOT NULL GROUP BY ALL)
QUALIFY rank() OVER (PARTITION BY country ORDER BY category_count DESC) = 1;

CREATE OR REPLACE TABLE popular_category_by_year AS
SELECT post_year, category, category_count FROM (SELECT year("timestamp") AS post_year, category, count(*) AS category_count
  FROM pg WHERE year("timestamp") BETWEEN 2018 AND 2022 AND category IS NOT NULL GROUP BY ALL)
QUALIFY rank() OVER (PARTITION BY post_year ORDER BY category_count DESC) = 1;

CREATE OR REPLACE TABLE most_followed_user_by_country AS
SELECT country, poster_name, follower_count FROM (SELECT DISTINCT country, poster_name, follower_count FROM pg
  WHERE country IS NOT NULL AND poster_name IS NOT NULL AND follower_count IS NOT NULL)
QUALIFY rank() OVER (PARTITION BY country ORDER BY follower_count DESC) = 1;

CREATE OR REPLACE TABLE most_followed_country AS
SELECT DISTINCT country, follower_count FROM most_followed_user_by_country ORDER BY follower_count DESC, country LIMIT 1;

CREATE OR REPLACE TABLE popular_category_by_age_group AS
SELECT age_group, category, category_count FROM (SELECT age_group, category, count(*) AS category_count FROM pu
  WHERE age_group IS NOT NULL AND category IS NOT NULL GROUP BY ALL)
QUALIFY rank() OVER (PARTITION BY age_group ORDER BY category_count DESC) = 1;

CREATE OR REPLACE TABLE median_followers_by_age_group AS
SELECT age_group, median(follower_count::DOUBLE) AS median_follower_count FROM pu
WHERE age_group IS NOT NULL AND follower_count IS NOT NULL GROUP BY ALL;

CREATE OR REPLACE TABLE users_joined_by_year AS
SELECT year(date_joined) AS post_year, count(*) AS number_users_joined
FROM (SELECT DISTINCT user_name, age, date_joined FROM usr) WHERE year(date_joined) BETWEEN 2015 AND 2020 GROUP BY ALL;

CREATE OR REPLACE TABLE median_followers_by_join_year AS
SELECT join_year AS post_year, median(follower_count::DOUBLE) AS median_follower_count FROM pu
WHERE join_year BETWEEN 2015 AND 2020 AND follower_count IS NOT NULL GROUP BY ALL;

CREATE OR REPLACE TABLE median_followers_by_age_group_and_join_year AS
SELECT age_group, join_year AS post_year, median(follower_count::DOUBLE) AS median_follower_count FROM pu
WHERE join_year BETWEEN 2015 AND 2020 AND follower_count IS NOT NULL AND age_group IS NOT NULL GROUP BY ALL;
