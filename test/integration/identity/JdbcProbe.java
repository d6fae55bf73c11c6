// pgjdbc probe for the identity tests, run with single-file launch:
//   java -cp /usr/share/java/postgresql.jar JdbcProbe.java "jdbc:postgresql://…" "SELECT …"
// Prints the first column of every row, or "ERROR <SQLSTATE> <message>" and exits 1.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class JdbcProbe {
  public static void main(String[] args) {
    try (Connection c = DriverManager.getConnection(args[0]); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(args[1])) {
      while (rs.next()) System.out.println(rs.getString(1));
    } catch (SQLException e) {
      System.out.println("ERROR " + e.getSQLState() + " " + e.getMessage());
      System.exit(1);
    }
  }
}
