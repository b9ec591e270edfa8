"""Process notes, addenda, scripts, the note template and theme history."""
